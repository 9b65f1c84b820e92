"""The candidate portal: accounts opened by the school, activation, sign-in, own data and ticket."""
