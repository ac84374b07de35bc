"""Settings, the metadata DB and its migrations, the catalog, and input and text helpers every context uses. Depends on nothing else in the portal."""
