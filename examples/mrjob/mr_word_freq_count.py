# mrjob's word-frequency example (mrjob/examples/mr_word_freq_count.py),
# unchanged: the reference `mr run word_count` is tested against.
# Run: python3 mr_word_freq_count.py -r inline --no-conf input.txt
import re

from mrjob.job import MRJob

WORD_RE = re.compile(r"[\w']+")


class MRWordFreqCount(MRJob):

    def mapper(self, _, line):
        for word in WORD_RE.findall(line):
            yield (word.lower(), 1)

    def combiner(self, word, counts):
        yield (word, sum(counts))

    def reducer(self, word, counts):
        yield (word, sum(counts))


if __name__ == '__main__':
    MRWordFreqCount.run()
