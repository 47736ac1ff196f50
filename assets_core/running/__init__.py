"""Running a plan: execution, storage of values, captured output, alerts, anomalies and recovery."""
