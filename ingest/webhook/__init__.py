"""The webhook receiver: LinkedIn's lead notifications, durable in Kafka before 2xx."""
