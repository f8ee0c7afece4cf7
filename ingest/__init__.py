"""The two ways leads come in: the webhook receiver and the puller, both Kafka producers."""
