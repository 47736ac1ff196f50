"""The use cases every front end calls: open a workspace, status, plan, materialize, resume, prune."""
