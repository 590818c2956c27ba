"""The deterministic demo store: catalog vocabulary, catalog generator, behaviour simulator, seeding."""
