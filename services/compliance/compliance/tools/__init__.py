"""Operator tools run from the command line beside the service (not by its workers): backup and restore."""
