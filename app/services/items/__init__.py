"""Items (SPEC §13): the catalog Lunas keeps for a project environment, and their checkout."""
