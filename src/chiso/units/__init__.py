"""The unit registry (SPEC C2): the city, its agencies, the 126 communes, and the groups
tasks are assigned to."""
