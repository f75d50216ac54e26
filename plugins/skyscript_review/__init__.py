"""The review and audit web app the SkyScript Airflow plugin mounts."""
