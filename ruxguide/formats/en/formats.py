# Dates as patients outside the US read them too: "25 November 2026", never "11/25/2026".
DATE_FORMAT = "j F Y"
