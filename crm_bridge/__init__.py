"""CRM bridge: leads, contacts, companies, deals and pipelines from conversations (issue 7)."""
