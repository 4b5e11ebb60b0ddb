"""MQTT meter ingest: topics and payload validation, the meter registry, rows and shadow
updates, the subscriber that bridges paho to the batched writer, and a meter fleet simulator."""
