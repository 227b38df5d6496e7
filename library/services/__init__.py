"""Library rules. No flask here: the actor, the time and the settings come in as arguments."""
