"""`wattline api`: the versioned HTTP JSON API (issue 16). The same figures as the CLI and the
dashboard, from the same analytics functions and named queries; this package only wires them
to HTTP, tokens and RFC 9457 problem documents."""
