"""leadsync: LinkedIn Lead Gen Form leads into a contact database, through Kafka."""

__version__ = "0.1.0"
