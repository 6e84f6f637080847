"""`nameko run` with cProfile on a CPU clock (time.process_time), for redeem_profile.py --cprofile: SIGUSR1 starts
profiling, SIGUSR2 stops it and writes the profile to the path in $PROFILE_OUT (so start-up is left out)."""
import cProfile
import os
import signal
import sys
import time

from nameko.cli.main import main

profile = cProfile.Profile(time.process_time)


def start(*_):
    profile.enable()


def stop(*_):
    profile.disable()
    profile.dump_stats(os.environ["PROFILE_OUT"])


if __name__ == "__main__":
    sys.argv = ["nameko", *sys.argv[1:]]
    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    main()
