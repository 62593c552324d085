"""One room per process: its use cases and the handlers of its service topics.

A process module imports the platform (service.usecases: instances, tasks, audit,
notifications, access, messages, the filing register) and never another process; processes meet
through messages correlated by institution or business key (usecases.messages) or through the
filing register (usecases.register). Start-up registers every process's topics in one place
(service/bootstrap.py). tests/unit/test_rooms.py holds them to it."""
