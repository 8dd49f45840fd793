"""Patient pages, by family: the check (`check`), the start page and language (`language`), the education
page (`education`); how pages are drawn (`pages`) and what they say when something is wrong (`problems`)."""
