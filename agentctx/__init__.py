"""agentctx: give an LLM or a coding agent exactly the code it needs, and no more."""

__version__ = "0.1.0"
