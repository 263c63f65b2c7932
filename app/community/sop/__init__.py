"""群SOP / 群日历: per tier, a calendar of group pushes and owner tasks, planned by the worker, with execution per owner."""
