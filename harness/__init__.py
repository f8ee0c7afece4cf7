"""Running leadsync's processes for tests and benchmarks.

One home for what both need, so that neither copies the other and benchmarks never import
test modules:

- :mod:`harness.children`: any child process: started with its output in a log file,
  stopped for sure, waited on until it serves; its CPU and memory; free loopback ports;
- :mod:`harness.processes`: leadsync's own processes (``leadsync <command>``) with given
  settings, and the ways to wait until the worker has dealt with what was published;
- :mod:`harness.sandboxes`: the LinkedIn sandbox, in a thread or preloaded in a child;
- :mod:`harness.scratch`: throwaway databases, and removing the topics, consumer groups
  and data directories a run leaves behind;
- :mod:`harness.kafka_cluster`: a Kafka cluster of its own (three brokers), to kill one;
- :mod:`harness.consumer_groups`: which worker holds which partitions, and where a key goes;
- :mod:`harness.listeners`: which processes listen on a TCP port (/proc), to tell that two
  receivers share one.
"""
