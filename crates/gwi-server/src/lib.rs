//! The gwi webhook service: verified, deduplicated, durable-before-ack.
