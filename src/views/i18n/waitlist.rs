//! Text of the waitlist (`sign_up_mode = waitlist`): its page, the sign-up page that points to it,
//! and the invitation email an approval (or the operator's instance invitation) sends, in every
//! language the pages speak. `{app}` is filled in when drawn.

use super::packed::{text_table, translations};

text_table! {
    #[derive(Debug)]
    pub struct WaitlistStrings {
        pub title: &'static str,
        pub lead: &'static str,
        pub join_button: &'static str,
        pub joined_title: &'static str,
        pub joined_lead: &'static str,
        pub closed_title: &'static str,
        pub closed_lead: &'static str,
        pub subject_invited: &'static str,
        pub lead_invited: &'static str,
        pub create_button: &'static str,
    }
}

pub const ENGLISH: WaitlistStrings = WaitlistStrings {
    title: "Join the waitlist",
    lead: "{app} is opening gradually. Leave your email address: when your turn comes, we will email you an invitation.",
    join_button: "Join the waitlist",
    joined_title: "You're on the list",
    joined_lead: "If this address can join, it is on the waitlist now. We will email an invitation when your turn comes.",
    closed_title: "Sign-up is by waitlist",
    closed_lead: "New accounts here come from the waitlist. Join it, and open the link in your invitation email when it arrives. If you already have an account, sign in.",
    subject_invited: "You're invited to {app}",
    lead_invited: "You can now create your {app} account with this email address.",
    create_button: "Create my account",
};

#[cfg(test)]
pub const FRENCH: WaitlistStrings = WaitlistStrings {
    title: "Rejoindre la liste d'attente",
    lead: "{app} ouvre progressivement. Laissez votre adresse e-mail : quand votre tour viendra, nous vous enverrons une invitation.",
    join_button: "Rejoindre la liste",
    joined_title: "Vous êtes sur la liste",
    joined_lead: "Si cette adresse peut s'inscrire, elle est maintenant sur la liste d'attente. Nous vous enverrons une invitation quand votre tour viendra.",
    closed_title: "Inscription sur liste d'attente",
    closed_lead: "Les nouveaux comptes viennent de la liste d'attente. Rejoignez-la, puis ouvrez le lien de votre e-mail d'invitation quand il arrivera. Si vous avez déjà un compte, connectez-vous.",
    subject_invited: "Vous êtes invité à rejoindre {app}",
    lead_invited: "Vous pouvez maintenant créer votre compte {app} avec cette adresse e-mail.",
    create_button: "Créer mon compte",
};

#[cfg(test)]
pub const GERMAN: WaitlistStrings = WaitlistStrings {
    title: "Auf die Warteliste",
    lead: "{app} öffnet schrittweise. Hinterlassen Sie Ihre E-Mail-Adresse: Wenn Sie an der Reihe sind, schicken wir Ihnen eine Einladung.",
    join_button: "Eintragen",
    joined_title: "Sie stehen auf der Liste",
    joined_lead: "Wenn sich diese Adresse eintragen kann, steht sie jetzt auf der Warteliste. Wir schicken Ihnen eine Einladung, wenn Sie an der Reihe sind.",
    closed_title: "Registrierung über die Warteliste",
    closed_lead: "Neue Konten entstehen hier über die Warteliste. Tragen Sie sich ein und öffnen Sie den Link in Ihrer Einladungs-E-Mail, sobald sie ankommt. Wenn Sie schon ein Konto haben, melden Sie sich an.",
    subject_invited: "Sie sind zu {app} eingeladen",
    lead_invited: "Sie können jetzt mit dieser E-Mail-Adresse Ihr {app}-Konto anlegen.",
    create_button: "Mein Konto anlegen",
};

#[cfg(test)]
pub const SPANISH: WaitlistStrings = WaitlistStrings {
    title: "Únete a la lista de espera",
    lead: "{app} se abre poco a poco. Deja tu dirección de correo: cuando llegue tu turno, te enviaremos una invitación.",
    join_button: "Unirme a la lista",
    joined_title: "Estás en la lista",
    joined_lead: "Si esta dirección puede unirse, ya está en la lista de espera. Te enviaremos una invitación cuando llegue tu turno.",
    closed_title: "Registro mediante lista de espera",
    closed_lead: "Las cuentas nuevas llegan desde la lista de espera. Únete y abre el enlace de tu correo de invitación cuando llegue. Si ya tienes una cuenta, inicia sesión.",
    subject_invited: "Te invitamos a {app}",
    lead_invited: "Ya puedes crear tu cuenta de {app} con esta dirección de correo.",
    create_button: "Crear mi cuenta",
};

#[cfg(test)]
pub const PORTUGUESE_BRAZIL: WaitlistStrings = WaitlistStrings {
    title: "Entrar na lista de espera",
    lead: "O {app} está abrindo aos poucos. Deixe seu e-mail: quando chegar a sua vez, enviaremos um convite.",
    join_button: "Entrar na lista",
    joined_title: "Você está na lista",
    joined_lead: "Se este endereço puder participar, ele já está na lista de espera. Enviaremos um convite quando chegar a sua vez.",
    closed_title: "Cadastro por lista de espera",
    closed_lead: "As novas contas vêm da lista de espera. Entre nela e abra o link do seu e-mail de convite quando ele chegar. Se você já tem uma conta, entre.",
    subject_invited: "Você foi convidado para o {app}",
    lead_invited: "Agora você pode criar sua conta no {app} com este endereço de e-mail.",
    create_button: "Criar minha conta",
};

#[cfg(test)]
pub const JAPANESE: WaitlistStrings = WaitlistStrings {
    title: "ウェイトリストに登録",
    lead: "{app} は順次公開しています。メールアドレスを登録してください。順番が来たら招待メールをお送りします。",
    join_button: "登録する",
    joined_title: "登録しました",
    joined_lead: "このアドレスが登録可能であれば、ウェイトリストに追加されました。順番が来たら招待メールをお送りします。",
    closed_title: "登録はウェイトリスト制です",
    closed_lead: "新しいアカウントはウェイトリストから作成されます。登録して、届いた招待メールのリンクを開いてください。すでにアカウントをお持ちの場合はサインインしてください。",
    subject_invited: "{app} へのご招待",
    lead_invited: "このメールアドレスで {app} のアカウントを作成できるようになりました。",
    create_button: "アカウントを作成",
};

translations!(WaitlistStrings, "waitlist");
