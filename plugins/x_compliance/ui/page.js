// The Compliance page's one script: it follows Airflow's colour mode and keeps the page inside
// Airflow's UI. Airflow shows the page in a same-origin iframe, so it can read its host.
(function () {
  var root = document.documentElement;
  var shell = root.getAttribute("data-shell");
  if (window.top === window && shell) {
    // Opened bare (a bookmark, an extra link stored before it pointed into Airflow's UI).
    location.replace(shell + location.pathname + location.search + location.hash);
    return;
  }
  var host = null;
  try {
    host = window.parent !== window ? window.parent.document.documentElement : null;
  } catch (error) {
    host = null;
  }
  var system = matchMedia("(prefers-color-scheme: dark)");

  // Airflow's UI (next-themes) puts "light" or "dark" on its <html> and keeps the user's
  // choice in localStorage["theme"]: "light", "dark" or "system".
  function mode() {
    if (host && host.classList.contains("dark")) return "dark";
    if (host && host.classList.contains("light")) return "light";
    var chosen = null;
    try {
      chosen = localStorage.getItem("theme");
    } catch (error) {
      chosen = null;
    }
    if (chosen === "dark" || chosen === "light") return chosen;
    return system.matches ? "dark" : "light";
  }
  function follow() {
    var dark = mode() === "dark";
    root.classList.toggle("dark", dark);
    root.classList.toggle("light", !dark);
  }
  follow();
  if (host) new MutationObserver(follow).observe(host, { attributes: true, attributeFilter: ["class"] });
  addEventListener("storage", follow);
  system.addEventListener("change", follow);

  // A link to one of Airflow's pages (a DAG run; the Compliance page seen from a run's tab)
  // opens in Airflow's UI, not in this frame. Airflow's sandbox forbids a frame to navigate
  // the window it is in, so the link becomes a history entry and a popstate: how Airflow's
  // router learns of a navigation.
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[data-airflow]") : null;
    if (!link || !host || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    window.top.history.pushState(null, "", link.getAttribute("href"));
    window.top.dispatchEvent(new PopStateEvent("popstate", { state: null }));
  });
})();
