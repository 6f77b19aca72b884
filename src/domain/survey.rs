//! The public satisfaction survey (SKM/IKM, PermenPANRB 14/2017): nine elements scored 1–4, and
//! the index computed from them.

/// The nine elements (unsur), in order, as (Bahasa Indonesia, English).
pub const ELEMENTS: [(&str, &str); 9] = [
    ("Persyaratan", "Requirements"),
    ("Sistem, mekanisme, dan prosedur", "Procedure"),
    ("Waktu penyelesaian", "Completion time"),
    ("Biaya/tarif", "Cost"),
    ("Produk spesifikasi jenis pelayanan", "Service output"),
    ("Kompetensi pelaksana", "Staff competence"),
    ("Perilaku pelaksana", "Staff courtesy"),
    (
        "Penanganan pengaduan, saran dan masukan",
        "Complaint handling",
    ),
    ("Sarana dan prasarana", "Facilities"),
];

pub const MAX_COMMENT_CHARS: usize = 2000;

/// Nine answers, each 1..=4.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SurveyAnswers([u8; 9]);

impl SurveyAnswers {
    pub fn parse(raw: &[i64]) -> Result<SurveyAnswers, &'static str> {
        if raw.len() != 9 {
            return Err("must_have_9_answers");
        }
        let mut a = [0u8; 9];
        for (i, v) in raw.iter().enumerate() {
            if !(1..=4).contains(v) {
                return Err("answers_must_be_1_to_4");
            }
            a[i] = *v as u8;
        }
        Ok(SurveyAnswers(a))
    }
    pub fn values(&self) -> [u8; 9] {
        self.0
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ikm {
    /// 25..=100.
    pub score: f64,
    /// A (Sangat Baik) … D (Tidak Baik).
    pub grade: char,
}

/// IKM over many surveys: the mean per element (NRR), averaged with weight 1/9, times 25.
pub fn ikm(surveys: &[SurveyAnswers]) -> Option<Ikm> {
    if surveys.is_empty() {
        return None;
    }
    let n = surveys.len() as f64;
    let mean_nrr: f64 = (0..9)
        .map(|e| surveys.iter().map(|s| s.0[e] as f64).sum::<f64>() / n)
        .sum::<f64>()
        / 9.0;
    let score = mean_nrr * 25.0;
    let grade = if score >= 88.31 {
        'A'
    } else if score >= 76.61 {
        'B'
    } else if score >= 65.0 {
        'C'
    } else {
        'D'
    };
    Some(Ikm { score, grade })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_checked_and_scored() {
        assert_eq!(SurveyAnswers::parse(&[4; 8]), Err("must_have_9_answers"));
        assert_eq!(
            SurveyAnswers::parse(&[4, 4, 4, 4, 4, 4, 4, 4, 5]),
            Err("answers_must_be_1_to_4")
        );
        let all4 = SurveyAnswers::parse(&[4; 9]).unwrap();
        let all3 = SurveyAnswers::parse(&[3; 9]).unwrap();
        assert_eq!(
            ikm(std::slice::from_ref(&all4)),
            Some(Ikm {
                score: 100.0,
                grade: 'A'
            })
        );
        let mixed = ikm(&[all4, all3]).unwrap();
        assert!((mixed.score - 87.5).abs() < 1e-9);
        assert_eq!(mixed.grade, 'B');
        assert_eq!(ikm(&[]), None);
        let low = SurveyAnswers::parse(&[1; 9]).unwrap();
        assert_eq!(ikm(&[low]).unwrap().grade, 'D');
    }

    #[test]
    fn every_answer_is_kept_in_order_and_zero_is_refused() {
        let raw = [1, 2, 3, 4, 4, 3, 2, 1, 2];
        assert_eq!(
            SurveyAnswers::parse(&raw).unwrap().values(),
            [1, 2, 3, 4, 4, 3, 2, 1, 2]
        );
        assert_eq!(
            SurveyAnswers::parse(&[0, 4, 4, 4, 4, 4, 4, 4, 4]),
            Err("answers_must_be_1_to_4")
        );
        assert_eq!(SurveyAnswers::parse(&[4; 10]), Err("must_have_9_answers"));
    }

    /// Each grade from its band (PermenPANRB 14/2017): A from 88.31, B from 76.61, C from 65.
    /// Scores come in steps of 25/9 per answer point here, so each band is hit inside.
    #[test]
    fn each_grade_has_its_band() {
        let one = |raw: [i64; 9]| ikm(&[SurveyAnswers::parse(&raw).unwrap()]).unwrap();
        // 32 points of 36: 88.89.
        let a = one([4, 4, 4, 4, 4, 3, 3, 3, 3]);
        assert!(
            (a.score - 800.0 / 9.0).abs() < 1e-9 && a.grade == 'A',
            "{a:?}"
        );
        // 31 points: 86.11.
        assert_eq!(one([4, 4, 4, 4, 3, 3, 3, 3, 3]).grade, 'B');
        // 28 points: 77.78; 27 points: 75.0.
        assert_eq!(one([4, 3, 3, 3, 3, 3, 3, 3, 3]).grade, 'B');
        assert_eq!(one([3; 9]).grade, 'C');
        // 24 points: 66.67; 23 points: 63.89.
        assert_eq!(one([3, 3, 3, 3, 3, 3, 2, 2, 2]).grade, 'C');
        assert_eq!(one([3, 3, 3, 3, 3, 2, 2, 2, 2]).grade, 'D');
        // Over three surveys the mean is taken per element, then over the nine.
        let three = ikm(&[
            SurveyAnswers::parse(&[4; 9]).unwrap(),
            SurveyAnswers::parse(&[2; 9]).unwrap(),
            SurveyAnswers::parse(&[3; 9]).unwrap(),
        ])
        .unwrap();
        assert!((three.score - 75.0).abs() < 1e-9, "{three:?}");
    }
}
