"""The database layer: connections, migrations for both storage profiles, named queries."""
