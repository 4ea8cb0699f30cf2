//! Flat partition lists to Kafka's topic-then-partition nesting and back, and the duplicate
//! rules that come with flattening.

use std::collections::{BTreeMap, BTreeSet};

use sluice_core::api::{ErrorCode, TopicPartition};

use super::ResponseContext;

/// The broker's answers followed by those for the partitions refused before they reached it,
/// each built by `refused` from its partition and error.
pub(super) fn with_refused<T>(
    mut answers: Vec<T>,
    context: &ResponseContext,
    refused: impl Fn(TopicPartition, ErrorCode) -> T,
) -> Vec<T> {
    answers.extend(
        context
            .answered
            .iter()
            .map(|(partition, error)| refused(partition.clone(), *error)),
    );
    answers
}

/// Groups `items` under their topic, topics in order of first appearance and items in their
/// order. Kafka's responses name each topic once, even if the request split it.
pub(super) fn group_by_topic<T>(
    items: Vec<T>,
    topic: impl Fn(&T) -> &str,
) -> Vec<(String, Vec<T>)> {
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut groups: Vec<(String, Vec<T>)> = Vec::new();
    for item in items {
        let name = topic(&item);
        let position = match index.get(name) {
            Some(&position) => position,
            None => {
                index.insert(name.to_owned(), groups.len());
                groups.push((name.to_owned(), Vec::new()));
                groups.len() - 1
            }
        };
        groups[position].1.push(item);
    }
    groups
}

/// The partitions named more than once.
pub(super) fn duplicates<'a>(
    partitions: impl IntoIterator<Item = &'a TopicPartition>,
) -> BTreeSet<TopicPartition> {
    let mut seen = BTreeSet::new();
    let mut twice = BTreeSet::new();
    for partition in partitions {
        if !seen.insert(partition) {
            twice.insert(partition.clone());
        }
    }
    twice
}

/// One entry per partition: the last one given, at the place of the first. This is what
/// Kafka's `FetchRequest.fetchData` (a LinkedHashMap filled in request order) makes of a
/// partition named twice.
pub(super) fn keep_last<T>(entries: Vec<(TopicPartition, T)>) -> Vec<(TopicPartition, T)> {
    let mut position: BTreeMap<TopicPartition, usize> = BTreeMap::new();
    let mut kept: Vec<(TopicPartition, T)> = Vec::with_capacity(entries.len());
    for (partition, value) in entries {
        match position.get(&partition) {
            Some(&at) => kept[at].1 = value,
            None => {
                position.insert(partition.clone(), kept.len());
                kept.push((partition, value));
            }
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(topic: &str, partition: i32) -> TopicPartition {
        TopicPartition {
            topic: topic.to_owned(),
            partition,
        }
    }

    #[test]
    fn groups_keep_first_appearance_order() {
        let items = vec![tp("b", 0), tp("a", 1), tp("b", 2), tp("a", 0)];
        let groups = group_by_topic(items, |item| &item.topic);
        assert_eq!(
            groups,
            vec![
                ("b".to_owned(), vec![tp("b", 0), tp("b", 2)]),
                ("a".to_owned(), vec![tp("a", 1), tp("a", 0)]),
            ]
        );
    }

    #[test]
    fn duplicates_and_keep_last() {
        let entries = vec![(tp("a", 0), 1), (tp("a", 1), 2), (tp("a", 0), 3)];
        assert_eq!(
            duplicates(entries.iter().map(|(tp, _)| tp)),
            BTreeSet::from([tp("a", 0)])
        );
        assert_eq!(keep_last(entries), vec![(tp("a", 0), 3), (tp("a", 1), 2)]);
    }
}
