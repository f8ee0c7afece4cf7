"""Kafka for every process: the topics (``topics``: names, creation, waiting for a broker),
the producers' safe configuration and one-shot publishing (``producing``), and the asyncio
publisher the receivers, the puller, the relay and the admin API share (``async_publisher``).

Guarantee of every producer here: a record counts as published only once Kafka acknowledged
it on every in-sync replica (acks=all), and idempotence keeps librdkafka's retries from
writing it twice.
"""
