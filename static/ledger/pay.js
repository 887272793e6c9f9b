// Stripe Payment Element for one top-up. The wallet is credited by Stripe's webhook, not by this page.
(function () {
  const form = document.getElementById("payment-form");
  if (!form) return;
  const message = document.getElementById("payment-message");
  const button = document.getElementById("pay-button");
  if (typeof Stripe !== "function") {
    message.textContent = form.dataset.unavailable;
    button.disabled = true;
    return;
  }
  const stripe = Stripe(form.dataset.publishableKey, { locale: form.dataset.locale });
  const elements = stripe.elements({ clientSecret: form.dataset.clientSecret });
  elements.create("payment").mount("#payment-element");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    message.textContent = "";
    const { error } = await stripe.confirmPayment({
      elements,
      confirmParams: { return_url: form.dataset.returnUrl },
    });
    // Only reached when the payment could not be confirmed (otherwise Stripe redirects to return_url).
    if (error) {
      message.textContent = error.message;
      button.disabled = false;
    }
  });
})();
