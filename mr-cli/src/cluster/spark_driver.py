"""mr's Spark driver: runs the steps of an mr job on Apache Spark, with the
job binary as the streaming mapper, combiner and reducer.

Written to a temporary file and started by `mr run JOB -r spark` (through
spark-submit, or python3 with pyspark importable); its only argument is a
JSON spec (see spark.rs). For each step:

    input (sc.textFile: files, dirs, globs, .gz; for a first step that reads
           whole files, their URIs, one file a partition)
      -> each partition piped through `BINARY run JOB --step-num N --mapper`
      -> [sorted by key, piped through `... --combiner`]
      -> (key, line), key = the first field (first two for a secondary sort)
      -> repartitionAndSortWithinPartitions(R, Hadoop's hash of the first
         field, key bytes)
      -> each partition piped through `... --reducer`
    -> the next step's input, or saveAsTextFile(output) (part-NNNNN, _SUCCESS)

The binary is shipped to the executors with sc.addFile. Each task process
is fed from a thread of its own while its stdout is read, and its stderr
is drained by another thread: no pipe can fill up and block. Counters
(`reporter:counter:` lines) are summed in an accumulator, by step.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque

from pyspark import AccumulatorParam, SparkConf, SparkContext, SparkFiles, TaskContext
from pyspark.shuffle import ExternalSorter

TAIL_LINES = 40
BATCH_LINES = 4096
# U+FFFD in UTF-8: what the JVM puts for bytes that are not UTF-8.
REPLACEMENT = b"\xef\xbf\xbd"
FAILURE_MARK = "mr task failed: "


class MrError(Exception):
    """An error mr shows as it is (no Spark traceback)."""


class CountersParam(AccumulatorParam):
    """Counters: {"STEP\\tGROUP\\tNAME": amount}, summed."""

    def zero(self, value):
        return {}

    def addInPlace(self, a, b):
        for k, v in b.items():
            a[k] = a.get(k, 0) + v
        return a


def java_hash(data, h):
    """`h = 31 * h + (signed byte)` over data, in 32-bit arithmetic."""
    for b in data:
        h = (31 * h + (b - 256 if b > 127 else b)) & 0xFFFFFFFF
    return h


def text_partition(key):
    """Hadoop's HashPartitioner on a Text key: Text.hashCode() & MAX."""
    return java_hash(key, 1) & 0x7FFFFFFF


def first_field_partition(key):
    """KeyFieldBasedPartitioner -k1,1: the hash from 0 of the first field."""
    return java_hash(key.split(b"\t", 1)[0], 0) & 0x7FFFFFFF


def key_of(line, fields):
    """The bytes of a line up to its `fields`-th tab (all of it if fewer)."""
    end = -1
    for _ in range(fields):
        end = line.find(b"\t", end + 1)
        if end < 0:
            return line
    return line[:end]


def binary_path(name):
    """The shipped binary, executable."""
    path = SparkFiles.get(name)
    if not os.access(path, os.X_OK):
        try:
            os.chmod(path, 0o755)
        except OSError:
            copy = os.path.join(tempfile.mkdtemp(prefix="mr-bin-"), name)
            shutil.copy(path, copy)
            os.chmod(copy, 0o755)
            path = copy
    return path


def pipe(argv, env, lines, what, counters, step, replaced=None):
    """Streams `lines` (bytes, no newline) through a process; yields its
    output lines. Fails with the tail of its stderr if it exits non-zero.
    `replaced`, if given, counts the lines holding U+FFFD: Spark's textFile
    decodes each line as UTF-8 in the JVM, so invalid bytes (a Latin-1
    line) arrive as U+FFFD and are no longer a bad record."""
    proc = subprocess.Popen(
        argv,
        # Shipped files (sc.addFile) are in SparkFiles' directory: tasks
        # find them by name in their working directory, as on Hadoop.
        cwd=SparkFiles.getRootDirectory(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        bufsize=1 << 16,
    )
    tail = deque(maxlen=TAIL_LINES)
    local = {}
    feed_error = []

    def drain():
        for raw in proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if line.startswith("reporter:counter:"):
                try:
                    group_name, amount = line[len("reporter:counter:"):].rsplit(",", 1)
                    group, name = group_name.split(",", 1)
                    key = "%d\t%s\t%s" % (step, group, name)
                    local[key] = local.get(key, 0) + int(amount)
                    continue
                except ValueError:
                    pass
            if line.startswith("reporter:status:"):
                continue
            if line.startswith("mr-bad-record: "):
                sys.stderr.write(line + "\n")
            tail.append(line)

    def write(batch):
        batch.append(b"")
        data = b"\n".join(batch)
        # One search a batch; its lines are looked at only when it has one.
        if replaced is not None and REPLACEMENT in data:
            replaced.add(sum(1 for line in batch if REPLACEMENT in line))
        proc.stdin.write(data)

    def feed():
        try:
            batch = []
            for line in lines:
                batch.append(line)
                if len(batch) >= BATCH_LINES:
                    write(batch)
                    batch = []
            if batch:
                write(batch)
        except BrokenPipeError:
            feed_error.append(None)
        except BaseException as e:  # noqa: B902 - re-raised by the reader
            feed_error.append(e)
        finally:
            try:
                proc.stdin.close()
            except (BrokenPipeError, OSError):
                pass

    drainer = threading.Thread(target=drain, daemon=True)
    feeder = threading.Thread(target=feed, daemon=True)
    drainer.start()
    feeder.start()
    for raw in proc.stdout:
        yield raw[:-1] if raw.endswith(b"\n") else raw
    feeder.join()
    drainer.join()
    code = proc.wait()
    counters.add(local)
    if code != 0:
        raise RuntimeError(
            "%s%s exited with status %d; its stderr ends with:\n%s"
            % (FAILURE_MARK, what, code, "\n".join(tail))
        )
    for e in feed_error:
        if e is None:
            raise RuntimeError(
                "%s%s exited before reading all of its input" % (FAILURE_MARK, what)
            )
        raise e


def task_env(index, is_map, extra):
    ctx = TaskContext.get()
    env = dict(os.environ)
    env.update(extra)
    attempt = "attempt_spark_%04d_%s_%06d_%d" % (
        ctx.stageId() if ctx else 0,
        "m" if is_map else "r",
        index,
        ctx.attemptNumber() if ctx else 0,
    )
    env.update(
        {
            "mapreduce_task_partition": str(index),
            "mapreduce_task_ismap": "true" if is_map else "false",
            "mapreduce_task_attempt_id": attempt,
        }
    )
    return env


def split_files(rdd):
    """The (file URI, start, length) of each partition of an RDD made by
    sc.textFile, read from its Hadoop splits in the JVM, or None when they
    cannot be read. A mapper task gets them as Hadoop Streaming gives them
    (mapreduce_map_input_file, _start, _length): a job that reads its input
    file's name (mrjob's mr_count_lines_by_file) and a bad record's
    location need them, and sc.textFile tells the Python side nothing."""
    try:
        hadoop_rdd = rdd._jrdd.rdd().dependencies().head().rdd()
        found = []
        for p in hadoop_rdd.partitions():
            split = p.inputSplit().value()
            found.append((split.getPath().toString(), split.getStart(), split.getLength()))
        return found
    except Exception:  # noqa: B902 - another RDD shape: no names, as before
        return None


def split_ranks(splits, order):
    """Each input partition's place in the local runner's order of the input
    files (`order`, their paths), by file then start, or None when it is the
    partitions' own order or a split's file is not in `order` (a cluster's).
    Spark lists a directory on a local disk in the file system's order,
    where the local runner reads it by name: a map-only job's output parts
    are numbered by these places, so its lines come in the local order."""
    if not splits or not order:
        return None
    at = {path: i for i, path in enumerate(order)}
    keys = []
    for i, (uri, start, _) in enumerate(splits):
        path = re.sub(r"^file:(//(?=/))?", "", uri)
        if path not in at:
            return None
        keys.append((at[path], start, i))
    ranks = [0] * len(keys)
    for rank, (_, _, i) in enumerate(sorted(keys)):
        ranks[i] = rank
    return None if ranks == list(range(len(ranks))) else ranks


def renumber_parts(sc, fs, staging, ranks):
    """Renames the part files Spark wrote in `staging`, part-N to
    part-ranks[N] (any extension kept: a compressed output's), through
    names of their own first, so that none is written over."""
    moves = []
    for status in fs.listStatus(jvm_path(sc, staging)):
        name = status.getPath().getName()
        m = re.match(r"part-(\d+)(.*)$", name)
        if m and int(m.group(1)) < len(ranks):
            moves.append((name, "part-%05d%s" % (ranks[int(m.group(1))], m.group(2))))
    def rename(src, dst):
        # FileSystem.rename says false rather than raise: a part left under
        # its `_` name would be hidden from every reader of the output.
        if not fs.rename(jvm_path(sc, staging + "/" + src), jvm_path(sc, staging + "/" + dst)):
            raise RuntimeError("could not rename %s to %s in %s" % (src, dst, staging))

    for name, _ in moves:
        rename(name, "_renumber-" + name)
    for name, new in moves:
        rename("_renumber-" + name, new)


def run_step(rdd, step_num, step, spec, counters, partitions, sorter_mb, splits=None, replaced=None):
    job = spec["job"]
    name = spec["binary_name"]
    has_reducer = step["reducer"]
    combiner = step["combiner"] and has_reducer
    fields = 2 if (step["sort_values"] and has_reducer) else 1

    def argv(role):
        # skip-bad-records, the job's options, the first mapper's line limit,
        # the last task's output protocol: as mr's task_args gives them.
        extra = spec["task_args"][step_num][role]
        return [binary_path(name), "run", job, "--step-num", str(step_num), "--" + role] + extra

    def map_partition(index, lines):
        env = task_env(index, True, spec.get("task_env", {}))
        if splits is not None and index < len(splits):
            uri, start, length = splits[index]
            env.update(
                {
                    "mapreduce_map_input_file": uri,
                    "mapreduce_map_input_start": str(start),
                    "mapreduce_map_input_length": str(length),
                }
            )
        what = "the mapper of step %d (partition %d)" % (step_num, index)
        out = pipe(argv("mapper"), env, lines, what, counters, step_num, replaced)
        if combiner:
            ordered = ExternalSorter(sorter_mb).sorted(out, key=lambda l: key_of(l, fields))
            what = "the combiner of step %d (partition %d)" % (step_num, index)
            out = pipe(argv("combiner"), env, ordered, what, counters, step_num)
        return out

    mapped = rdd.mapPartitionsWithIndex(map_partition)
    if not has_reducer:
        return mapped

    def reduce_partition(index, pairs):
        env = task_env(index, False, spec.get("task_env", {}))
        what = "the reducer of step %d (partition %d)" % (step_num, index)
        return pipe(
            argv("reducer"), env, (line for _, line in pairs), what, counters, step_num
        )

    part = first_field_partition if fields == 2 else text_partition
    keyed = mapped.map(lambda line: (key_of(line, fields), line))
    shuffled = keyed.repartitionAndSortWithinPartitions(partitions, part)
    return shuffled.mapPartitionsWithIndex(reduce_partition)


def hadoop_fs(sc, path):
    p = jvm_path(sc, path)
    return p.getFileSystem(sc._jsc.hadoopConfiguration()), p


def jvm_path(sc, path):
    return sc._jvm.org.apache.hadoop.fs.Path(path)


def rename_no_replace(sc, src, dst):
    """Renames `src` to `dst` only if `dst` does not exist (Hadoop's
    FileContext rename with Options.Rename.NONE: atomic on HDFS); None, or
    why not. The plain FileSystem.rename puts `src` inside an existing
    directory on HDFS, and on a local file system copies it over that
    directory's files."""
    jvm = sc._jvm
    fc = jvm.org.apache.hadoop.fs.FileContext.getFileContext(
        dst.toUri(), sc._jsc.hadoopConfiguration()
    )
    options = sc._gateway.new_array(jvm.org.apache.hadoop.fs.Options.Rename, 1)
    options[0] = jvm.org.apache.hadoop.fs.Options.Rename.NONE
    try:
        fc.rename(src, dst, options)
        return None
    except Exception as e:  # py4j's Py4JJavaError: the Java exception's text
        lines = [l for l in str(e).splitlines() if l.strip() and not l.startswith("An error")]
        return lines[0].lstrip(": ") if lines else type(e).__name__


def replace_output(sc, fs, staging, output, had_old, empty_dir, reports):
    """Puts the complete new output `staging` in the place of `output`: the
    old one is moved aside, the new one moved in, then the old one removed
    (put back if the new one cannot be moved in). `had_old`: whether there
    was an output when the run started; `empty_dir`: whether it was an
    empty directory, taken as no output and removed now (a failed run
    leaves it). Nothing is ever moved into or over an output another run
    wrote meanwhile: the renames refuse one."""
    out = jvm_path(sc, output)
    if empty_dir:
        # A delete that is not recursive fails if another run wrote into it
        # meanwhile: then the rename below refuses to move over it.
        try:
            fs.delete(out, False)
        except Exception:  # py4j's Py4JJavaError (a directory not empty)
            pass
    new = jvm_path(sc, staging)
    old = jvm_path(sc, staging.replace(".mr-tmp-", ".mr-old-"))
    old_is_in = "; the old output is in %s" % old.toString() if had_old else ""
    if had_old:
        why = rename_no_replace(sc, out, old)
        if why and not fs.exists(out):
            # Removed while the run ran (by hand, a clean-up job): nothing
            # to replace, and the new output goes in as it is.
            had_old = False
            old_is_in = ""
        elif why:
            raise MrError(
                "cannot move the old output %s aside (%s); it was left as it was, and the new"
                " output is in %s" % (output, why, staging)
            )
    why = rename_no_replace(sc, new, out)
    if why and fs.exists(out) and fs.exists(new):
        raise MrError(
            "another run wrote %s while this one ran: it was left as that run wrote "
            "it, and the new output is in %s%s" % (output, staging, old_is_in)
        )
    if why:
        back = had_old and rename_no_replace(sc, old, out) is None
        raise MrError(
            "cannot move the new output %s into %s (%s); %s"
            % (
                staging,
                output,
                why,
                "the old output was put back" if back else (old_is_in[2:] or "there was no old output"),
            )
        )
    if not had_old:
        return
    foreign = foreign_entries(fs, old, reports)
    if foreign:
        sys.stderr.write(
            "mr: warning: the new output is in place; the old one was kept in %s, as it holds %s\n"
            % (old.toString(), describe(foreign))
        )
    elif not fs.delete(old, True):
        sys.stderr.write("mr: warning: the old output is left in %s\n" % old.toString())


# What a job writes in its output directory (mr_core::output::commit::
# written_by_a_job; spark.rs' tests check that both agree, between the
# BEGIN and END lines): --overwrite replaces nothing else.
# BEGIN written_by_a_job
JOB_BOOKKEEPING = (
    "_SUCCESS", "_bad_records", "_dictionaries", "_temporary", "_logs", "_metadata", "_common_metadata"
)
JOB_PREFIXES = ("_started_", "_committed_", "__magic")
# mr_core::output::commit::is_part_name
PART_NAME = re.compile(
    r"part-(?:[mr]-)?[0-9]+(?:-[0-9a-f-]*[0-9a-f])?"
    r"(?:\.(?:parquet|gz|bz2|zst|zstd|deflate|snappy|lz4|lzo|xz|br|json|jsonl|csv|tsv|txt|orc|avro))*\Z"
)


def written_by_a_job(name):
    return (
        PART_NAME.match(name) is not None
        or name.startswith(JOB_PREFIXES)
        or name in JOB_BOOKKEEPING
        or (len(name) >= len(".x.crc") and name.startswith(".") and name.endswith(".crc"))
    )
# END written_by_a_job


def foreign_entries(fs, path, reports=()):
    """What the directory `path` holds that no job writes, as a message
    shows it: sorted names, a directory's with a /. `reports` are the names
    of files mr found to be the reports an earlier run wrote in the output
    (spark.rs, by name and content, as the local runner tells them): part of
    the output."""
    names = []
    for st in fs.listStatus(path):
        name = st.getPath().getName()
        if not written_by_a_job(name) and not (st.isFile() and name in reports):
            shown = name if name.isprintable() else repr(name)
            names.append(shown + ("/" if st.isDirectory() else ""))
    return sorted(names)


def describe(foreign):
    text = "files a job does not write, which would be lost with it: " + ", ".join(foreign[:5])
    if len(foreign) > 5:
        text += " and %d more" % (len(foreign) - 5)
    return text


def hidden(name):
    return name.startswith("_") or name.startswith(".")


def manifest(sc, inputs):
    """The files under `inputs` (globs expanded, directories walked, names
    starting with _ or . below an input left out, as Hadoop and mr's local
    listing do), as the lines of a whole-file step's input manifest: each
    file's URI as a JSON string."""
    uris = []
    for given in inputs:
        fs, p = hadoop_fs(sc, given)
        matched = fs.globStatus(p)
        if matched is None or len(matched) == 0:
            raise MrError("input %s does not exist" % given)
        for st in matched:
            if st.isFile():
                uris.append(st.getPath().toString())
                continue
            stack = [st.getPath()]
            while stack:
                for child in fs.listStatus(stack.pop()):
                    if hidden(child.getPath().getName()):
                        continue
                    if child.isDirectory():
                        stack.append(child.getPath())
                    else:
                        uris.append(child.getPath().toString())
    if not uris:
        raise MrError("no input files under %s" % ", ".join(inputs))
    return [json.dumps(u).encode("utf-8") for u in sorted(uris)]


def main():
    spec = json.loads(sys.argv[1])
    conf = SparkConf().setAppName("mr " + spec["job"])
    conf.setIfMissing("spark.master", spec["master"])
    conf.set("spark.ui.showConsoleProgress", "false")
    for k, v in spec["spark_conf"].items():
        conf.set(k, v)
    sc = SparkContext(conf=conf)
    splits = None
    try:
        sc.setLogLevel(spec.get("log_level") or "WARN")
        hconf = sc._jsc.hadoopConfiguration()
        hconf.set("mapreduce.input.fileinputformat.input.dir.recursive", "true")
        for k, v in spec["hadoop_conf"].items():
            hconf.set(k, v)
        output = spec.get("output")
        staging = None
        had_old = False
        empty_dir = False
        if output:
            fs, path = hadoop_fs(sc, output)
            had_old = fs.exists(path)
            if had_old and fs.getFileStatus(path).isDirectory() and not fs.listStatus(path):
                # An empty directory is taken as no output, as the local
                # runner takes it: removed once the new output is complete.
                empty_dir = True
                had_old = False
            if had_old:
                if not spec["overwrite"]:
                    raise MrError(
                        "output %s already exists (use --overwrite to replace it"
                        " once the new one is complete)" % output
                    )
                if not fs.getFileStatus(path).isDirectory():
                    raise MrError(
                        "--overwrite will not replace %s: it is a file, not a job's output" % output
                    )
                if not fs.exists(jvm_path(sc, output.rstrip("/") + "/_SUCCESS")):
                    raise MrError(
                        "--overwrite will not replace %s: it has no _SUCCESS, so it is not a"
                        " finished job's output (remove it yourself if you mean to)" % output
                    )
                foreign = foreign_entries(fs, path, spec.get("reports", []))
                if foreign:
                    raise MrError(
                        "--overwrite will not replace %s: it holds %s. To protect your files,"
                        " mr replaces only a finished job's output (a directory with _SUCCESS,"
                        " part-* files and a job's _-named bookkeeping): move your files out,"
                        " or choose another --output" % (output, describe(foreign))
                    )
            # The new output is written beside OUT, and moved in (over an
            # old one, with --overwrite) only once it is complete: never
            # into OUT, where another run started at the same time may
            # write, or an interrupted one remove what is not its own.
            # Named by mr, which removes it if the run is interrupted.
            # Hidden (PARENT/.NAME.mr-tmp-...), as mr names it: readers
            # of PARENT skip it.
            parent, _, name = output.rstrip("/").rpartition("/")
            staging = spec.get("staging") or "%s%s.%s.mr-tmp-%d-%d" % (
                parent, "/" if parent else "", name, os.getpid(), int(time.time())
            )
        sc.addFile(spec["binary"])
        # In mr's work directory, which mr removes.
        staged = os.path.join(os.path.dirname(spec["local_output"]), "files")
        os.makedirs(staged, exist_ok=True)
        for path, name in spec.get("files", []):
            # addFile keeps a file's own name: stage it under the job's.
            if os.path.basename(path) != name:
                copy = os.path.join(staged, name)
                shutil.copy(path, copy)
                path = copy
            sc.addFile(path)

        counters = sc.accumulator({}, CountersParam())
        partitions = spec["partitions"] or sc.defaultParallelism
        sorter_mb = int(spec.get("sorter_mb") or 256)
        if spec["steps"][0].get("whole_files"):
            # A mapper that reads whole files: one file a partition, named
            # by its URI (mr_core::input::whole_file).
            lines = manifest(sc, spec["inputs"])
            rdd = sc.parallelize(lines, len(lines))
        else:
            rdd = sc.textFile(",".join(spec["inputs"]), use_unicode=False)
        splits = None if spec["steps"][0].get("whole_files") else split_files(rdd)
        replaced = None if spec["steps"][0].get("whole_files") else sc.accumulator(0)
        # A map-only job's parts are its input partitions': numbered in the
        # local runner's order of the input files.
        map_only = len(spec["steps"]) == 1 and not spec["steps"][0]["reducer"]
        ranks = split_ranks(splits, spec.get("input_order")) if map_only else None
        for i, step in enumerate(spec["steps"]):
            rdd = run_step(
                rdd,
                i,
                step,
                spec,
                counters,
                partitions,
                sorter_mb,
                splits if i == 0 else None,
                replaced if i == 0 else None,
            )
        if output:
            try:
                rdd.saveAsTextFile(staging)
                if ranks:
                    renumber_parts(sc, fs, staging, ranks)
            except BaseException:
                fs.delete(jvm_path(sc, staging), True)
                raise
            replace_output(sc, fs, staging, output, had_old, empty_dir, spec.get("reports", []))
        else:
            # Results for stdout: each partition to a local part file, which
            # mr merges in key order.
            local = spec["local_output"]
            files = {}
            try:
                tagged = rdd.mapPartitionsWithIndex(lambda i, it: ((i, l) for l in it))
                for i, line in tagged.toLocalIterator():
                    f = files.get(i)
                    if f is None:
                        part = ranks[i] if ranks else i
                        f = files[i] = open(os.path.join(local, "part-%05d" % part), "wb")
                    f.write(line)
                    f.write(b"\n")
            finally:
                for f in files.values():
                    f.close()
        if splits:
            # The input's bytes on its file system, as Hadoop's "Bytes Read"
            # counts them (a .gz file's compressed size): the splits'
            # lengths, which the tasks cannot see.
            key = "0\t%s\tinput bytes" % spec["framework_counters"]
            counters.add({key: sum(length for _, _, length in splits)})
        with open(spec["counters_file"], "w") as f:
            json.dump(counters.value, f)
        if replaced is not None and replaced.value:
            sys.stderr.write(
                "mr: warning: %d input lines held U+FFFD as Spark read them: Spark decodes lines as "
                "UTF-8 and replaces invalid bytes, so a line that is not UTF-8 (Latin-1) is read "
                "as text here where the local runner and Hadoop read its bytes (a bad record for "
                "a JSON job)\n" % replaced.value
            )
    except Exception as e:  # noqa: B902 - summarized for mr, then re-raised
        text = str(e)
        at = text.find(FAILURE_MARK)
        summary = None
        if isinstance(e, MrError):
            # mr's own refusal (an output that exists, another run's
            # output): said as it is, not as a failed job.
            summary = text
        elif at >= 0:
            # The first failed task's message, without the Java stack trace.
            summary = text[at + len(FAILURE_MARK):]
            cut = summary.find("\n\tat ")
            if cut >= 0:
                summary = summary[:cut]
            summary = "the job failed on Spark: " + summary
        if summary is not None:
            with open(spec["error_file"], "w") as f:
                f.write(summary.rstrip())
        elif splits:
            # A task that failed reading the input (a .gz cut short): its
            # split, for mr to say which file (process.rs, FAILED_SPLIT;
            # Spark logs the splits only at INFO). The first stage of the
            # first job is the one reading the input.
            lost = re.search(r"Lost task (\d+)\.\d+ in stage 0\.\d+ ", text)
            if lost and int(lost.group(1)) < len(splits):
                path, start, length = splits[int(lost.group(1))]
                sys.stderr.write("mr-failed-split: %s:%d+%d\n" % (path, start, length))
                sys.stderr.flush()
        raise
    finally:
        sc.stop()


if __name__ == "__main__":
    main()
