"""Any mr job run by mrjob, as command steps that call the mr binary.

mrjob ships the binary with the job (FILES: it lands in each task's working
directory as ./mr) and runs, for step N, the commands

    ./mr run JOB --step-num N --mapper
    ./mr run JOB --step-num N --combiner     (if the step has a combiner)
    ./mr run JOB --step-num N --reducer      (if the step has a reducer)

so the same file runs on mrjob's local runner, on Hadoop and on EMR:

    MR_BINARY=target/release/mr MR_JOB=url_views MR_STEPS=cr \\
        python3 examples/mrjob/mr_binary_steps.py -r local examples/logs/

MR_STEPS describes the job's steps, one comma-separated word a step:
`c` the step has a combiner, `r` a reducer, `s` it sorts values (secondary
sort; mrjob then sorts whole lines, and on Hadoop partitions on the key and
sorts on key and value). The shipped jobs: word_count `cr`, url_views `cr`,
video_tagging `rs`, top_lectures `cr,cr`.
"""

import os

from mrjob.job import MRJob
from mrjob.step import MRStep

# Absolute: mrjob resolves a relative FILES path against this script's
# directory, where the user means the current one.
MR_BINARY = os.path.abspath(os.environ.get("MR_BINARY", "target/release/mr"))
MR_JOB = os.environ.get("MR_JOB", "url_views")
MR_STEPS = os.environ.get("MR_STEPS", "cr").split(",")


class MRBinarySteps(MRJob):
    FILES = [MR_BINARY + "#mr"]
    SORT_VALUES = any("s" in s for s in MR_STEPS)

    def steps(self):
        steps = []
        for n, shape in enumerate(MR_STEPS):
            task = "./mr run %s --step-num %d --" % (MR_JOB, n)
            kwargs = {"mapper_cmd": task + "mapper"}
            if "r" in shape:
                kwargs["reducer_cmd"] = task + "reducer"
                if "c" in shape:
                    kwargs["combiner_cmd"] = task + "combiner"
            steps.append(MRStep(**kwargs))
        return steps


if __name__ == "__main__":
    MRBinarySteps.run()
