"""Jixiao's public contract: every RPC payload and event, and the envelope events travel in."""
from contracts.actor import Actor
from contracts.base import Contract, Event, event_class
from contracts.envelope import Envelope

__all__ = ["Actor", "Contract", "Envelope", "Event", "event_class"]
