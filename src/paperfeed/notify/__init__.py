"""Telling people elsewhere: webhooks (Slack, Discord, signed JSON), saved-search alerts and
reply mails. Events are written to the outbox by the store; everything here that talks to
the network runs in the worker (``paperfeed.jobs.notify``), never inside a request's
transaction."""
