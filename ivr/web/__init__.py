"""The operators' console (pt-BR pages) and the HTTP API for the creditor's systems, served by ``ivr web``."""
