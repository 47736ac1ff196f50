"""Column lineage: which upstream columns each column of an asset comes from."""
