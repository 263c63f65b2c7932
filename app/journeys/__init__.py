"""Customer journeys (客户SOP): a trigger enters customers, steps on a timeline touch them, signals move them out."""
