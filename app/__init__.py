"""The app layer: the command line, the task functions the DAGs call, the ingest use case,
the demo, the Airflow runtime and the synthetic generator. It may import every layer below;
nothing below imports it."""
