"""The OCPP 1.6-J central system: WebSocket server, message handlers, operator commands,
authentication, and a charge point simulator."""
