//! Local simulated provider APIs with fault injection and a signed-webhook sender.
