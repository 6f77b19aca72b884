fn main() {
    for p in ["demo-password-for-tests","embedded-test-password","restart-test-password","panjang-sekali-123","long-enough-password","kata-sandi-yang-panjang","1234567890","guess-guess-guess","correct horse battery","loket-dummy-password-never-matches","aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","test-secret-test-secret-test-secret-0123456789","log-test-secret-log-test-secret-0123456789","0f3a9c1e5b7d2468ace13579bdf02468","7f1e3d2c9b8a47566e5d4c3b2a190817a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1","abcdefghijklmnopqrstuvwxyz012345","Qx7pLm2vN9rT4wZk8cYb3hJd6fGs1aEu", "passwordpasswordpasswordpassword"] {
        let e = zxcvbn::zxcvbn(p, &[]);
        println!("{:50} score {} log10 {:.1}", p, u8::from(e.score()), e.guesses_log10());
    }
}
