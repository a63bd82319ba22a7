"""Test helpers later suites reuse: a hub over HTTP, staff and visitor socket clients, real
``openlines serve`` processes, and waiting for events instead of sleeping."""
