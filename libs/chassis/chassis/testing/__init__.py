"""Test helpers for chassis services: real RabbitMQ vhosts, real PostgreSQL databases, running containers."""
