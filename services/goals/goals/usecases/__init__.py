"""The goals use cases: plain functions, one unit of work each, returning contract models."""
