"""Starting and stopping the system's processes (Airflow components, SFTP gateway)."""
