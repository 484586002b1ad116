# url_views as an mrjob job, the way a user would write it: the Python peer
# of `mr run url_views` in bench/run.sh (same rules as jobs/src/url_views.rs:
# a JSON object line with a string page_url counts 1 for that string; other
# lines that are JSON count nothing; blank lines are skipped).
# Run: python3 mr_url_views.py -r local --no-conf logs.jsonl
import json

from mrjob.job import MRJob


class MRUrlViews(MRJob):

    def mapper(self, _, line):
        if not line.strip():
            return
        event = json.loads(line)
        if isinstance(event, dict):
            url = event.get('page_url')
            if isinstance(url, str):
                yield url, 1

    def combiner(self, url, counts):
        yield url, sum(counts)

    def reducer(self, url, counts):
        yield url, sum(counts)


if __name__ == '__main__':
    MRUrlViews.run()
