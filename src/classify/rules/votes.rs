//! How the votes of matching rules become a decision, field by field.

use crate::case::{Category, Kind, SendTopic};

/// One vote for a field's value.
#[derive(Debug, Clone)]
struct Vote<T> {
    priority: i64,
    weight: i64,
    order: usize,
    value: T,
}

/// The votes cast for one field, and the rule that says which value wins.
#[derive(Debug, Clone)]
pub struct Votes<T> {
    votes: Vec<Vote<T>>,
}

impl<T> Default for Votes<T> {
    fn default() -> Self {
        Votes { votes: Vec::new() }
    }
}

impl<T: Clone + PartialEq> Votes<T> {
    pub(crate) fn cast(&mut self, priority: i64, weight: i64, order: usize, value: T) {
        self.votes.push(Vote {
            priority,
            weight,
            order,
            value,
        });
    }

    /// The winning value (see the module documentation).
    pub fn winner(&self) -> Option<T> {
        let top = self.votes.iter().map(|v| v.priority).max()?;
        let mut tally: Vec<(T, i64, usize)> = Vec::new();
        for vote in self.votes.iter().filter(|v| v.priority == top) {
            match tally.iter_mut().find(|(value, _, _)| *value == vote.value) {
                Some(entry) => {
                    entry.1 += vote.weight;
                    entry.2 = entry.2.max(vote.order);
                }
                None => tally.push((vote.value.clone(), vote.weight, vote.order)),
            }
        }
        tally
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(a.2.cmp(&b.2)))
            .map(|(value, _, _)| value)
    }

    /// Each value's total weight at the highest priority, heaviest first:
    /// what a person reads to see how close a decision was.
    pub fn standings(&self) -> Vec<(T, i64)> {
        let Some(top) = self.votes.iter().map(|v| v.priority).max() else {
            return Vec::new();
        };
        let mut tally: Vec<(T, i64)> = Vec::new();
        for vote in self.votes.iter().filter(|v| v.priority == top) {
            match tally.iter_mut().find(|(value, _)| *value == vote.value) {
                Some(entry) => entry.1 += vote.weight,
                None => tally.push((vote.value.clone(), vote.weight)),
            }
        }
        tally.sort_by_key(|t| std::cmp::Reverse(t.1));
        tally
    }

    /// The rules (by index) that voted for the winning value.
    pub fn winners_rules(&self) -> Vec<usize> {
        let Some(winner) = self.winner() else {
            return Vec::new();
        };
        let top = self.votes.iter().map(|v| v.priority).max().unwrap_or(0);
        self.votes
            .iter()
            .filter(|v| v.priority == top && v.value == winner)
            .map(|v| v.order)
            .collect()
    }
}

/// The votes of every matching rule.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub kind: Votes<Kind>,
    pub category: Votes<Category>,
    pub send_topic: Votes<SendTopic>,
    pub urgent: Votes<bool>,
    pub from_mp_office: Votes<bool>,
    pub acknowledge: Votes<bool>,
    pub team: Votes<String>,
    pub assignee: Votes<String>,
    pub policy: Votes<String>,
    pub tags: Vec<String>,
    pub triage: Vec<String>,
    /// Indexes of the rules that matched, in order.
    pub matched: Vec<usize>,
}
