"""Operating the bot: Prometheus metrics, health and readiness, the ops HTTP port, the audit export."""
