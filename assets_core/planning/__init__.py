"""Planning: the asset graph, code versions, recorded state, staleness and plans, as pure functions."""
