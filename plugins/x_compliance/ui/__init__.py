"""The Compliance page: a FastAPI app the provider's Airflow plugin mounts on the API server."""
