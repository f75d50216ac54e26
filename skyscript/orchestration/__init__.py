"""Airflow-free helpers the DAGs and the step operator use: orchestration settings, the step
command line, label-safe names, episode batching, local step execution, source scanning.

Nothing here imports Airflow, so every piece is testable on its own and the DAG files stay
wiring only.
"""
